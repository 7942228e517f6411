// A frontend's use of the generated types, one operation at a time: the typed
// document node, its variables, a result of the shape the BFF answers, and code
// that reads it. `tsc` (strict) fails when the schema or a document changes
// under it; the values are the examples GraphiQL opens with.
import type { ResultOf, VariablesOf } from "@graphql-typed-document-node/core";
import {
  CategoryListingDocument,
  HomeFeedDocument,
  OrderStatusDocument,
  PlaceOrderDocument,
  ProductPageDeferredDocument,
  ProductPageDocument,
  type OrderStatus,
} from "./generated/graphql";

type Money = { amount: number; currency: string };

const price = (money: Money): string => `${money.amount.toFixed(2)} ${money.currency}`;

const FINAL: ReadonlySet<OrderStatus> = new Set<OrderStatus>(["DELIVERED", "CANCELLED"]);

export const productPage = {
  document: ProductPageDocument,
  variables: { id: "p1" } satisfies VariablesOf<typeof ProductPageDocument>,
  sample: {
    product: {
      id: "p1",
      name: "Espresso cup",
      price: { amount: 12.5, currency: "EUR" },
      stock: { available: 3 },
      rating: { average: 4.5, count: 2 },
      category: { name: "Kitchen" },
      reviews: [{ rating: 5, body: "Holds heat.", author: { name: "Ada" } }],
    },
  } satisfies ResultOf<typeof ProductPageDocument>,
};

export function productSummary(page: ResultOf<typeof ProductPageDocument>): string | null {
  const product = page.product;
  if (product === null) return null;
  const stock = product.stock === null ? "stock unknown" : `${product.stock.available} left`;
  const rating = product.rating?.average?.toFixed(1) ?? "unrated";
  const authors = (product.reviews ?? []).map((review) => review.author?.name ?? "anonymous");
  return `${product.id} ${product.name}: ${price(product.price)}, ${stock}, ${rating} (${authors.join(", ")})`;
}

// The same page with rating and reviews deferred: its first result has neither
// (the generated type says each deferred part may be absent), later ones add them.
export const productPageDeferred = {
  document: ProductPageDeferredDocument,
  variables: { id: "p1" } satisfies VariablesOf<typeof ProductPageDeferredDocument>,
  first: {
    product: {
      id: "p1",
      name: "Espresso cup",
      price: { amount: 12.5, currency: "EUR" },
      stock: { available: 3 },
      category: { name: "Kitchen" },
    },
  } satisfies ResultOf<typeof ProductPageDeferredDocument>,
};

export function deferredRating(page: ResultOf<typeof ProductPageDeferredDocument>): string {
  const product = page.product;
  if (product === null || !("rating" in product) || product.rating === undefined) return "loading";
  return product.rating?.average?.toFixed(1) ?? "unrated";
}

export const categoryListing = {
  document: CategoryListingDocument,
  variables: { category: "c1" } satisfies VariablesOf<typeof CategoryListingDocument>,
  sample: {
    products: {
      edges: [
        {
          node: {
            id: "p1",
            name: "Espresso cup",
            price: { amount: 12.5, currency: "EUR" },
            stock: { available: 3 },
            category: { name: "Kitchen" },
            rating: { average: null, count: 0 },
            reviews: [],
          },
        },
      ],
    },
  } satisfies ResultOf<typeof CategoryListingDocument>,
};

export function listingNames(listing: ResultOf<typeof CategoryListingDocument>): string[] {
  return (listing.products?.edges ?? []).map(({ node }) => `${node.name} ${price(node.price)}`);
}

export const homeFeed = {
  document: HomeFeedDocument,
  variables: {} satisfies VariablesOf<typeof HomeFeedDocument>,
  sample: {
    me: {
      name: "Ada",
      orders: [
        {
          status: "SHIPPED",
          total: { amount: 25, currency: "EUR" },
          lines: [
            {
              quantity: 2,
              product: { name: "Espresso cup", stock: { available: 3 }, rating: { average: 4.5 } },
            },
          ],
        },
      ],
    },
    recommendations: [
      { name: "Milk jug", price: { amount: 9, currency: "EUR" }, rating: null },
    ],
  } satisfies ResultOf<typeof HomeFeedDocument>,
};

export function openOrders(feed: ResultOf<typeof HomeFeedDocument>): number {
  return (feed.me?.orders ?? []).filter((order) => !FINAL.has(order.status)).length;
}

export const placeOrder = {
  document: PlaceOrderDocument,
  variables: { key: "graphiql-1" } satisfies VariablesOf<typeof PlaceOrderDocument>,
  sample: {
    placeOrder: { id: "o10034", status: "PLACED", total: { amount: 12.5, currency: "EUR" } },
  } satisfies ResultOf<typeof PlaceOrderDocument>,
};

export const orderStatus = {
  document: OrderStatusDocument,
  variables: { orderId: "o10034" } satisfies VariablesOf<typeof OrderStatusDocument>,
  sample: {
    orderStatus: {
      id: "o10034",
      status: "PAID",
      total: { amount: 12.5, currency: "EUR" },
      lines: [{ quantity: 1, product: { name: "Espresso cup" } }],
    },
  } satisfies ResultOf<typeof OrderStatusDocument>,
};

export function isFinal(update: ResultOf<typeof OrderStatusDocument>): boolean {
  return FINAL.has(update.orderStatus.status);
}
