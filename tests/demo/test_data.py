from collections import Counter

import orjson

from demo.data import CATEGORY_COUNT, PRODUCT_COUNT, USER_COUNT, DemoData, generate


def test_the_same_seed_gives_the_same_data() -> None:
    first = generate.__wrapped__(7)
    second = generate.__wrapped__(7)
    assert first is not second
    assert orjson.dumps(list(first.documents.values())) == orjson.dumps(
        list(second.documents.values())
    )
    assert first.stock == second.stock


def test_another_seed_gives_other_data(data: DemoData) -> None:
    other = generate(43)
    assert other.users["u1"] == data.users["u1"]  # Ada is fixed
    assert other.products["p1"] != data.products["p1"]


def test_generate_is_cached_per_seed(data: DemoData) -> None:
    assert generate(42) is data


def test_ada_is_user_one(data: DemoData) -> None:
    assert data.users["u1"].to_json() == {
        "id": "u1",
        "name": "Ada Lovelace",
        "email": "ada@example.com",
        "tier": "gold",
        "country": "GB",
        "createdAt": "2024-01-02T03:04:05Z",
    }


def test_sizes_match_the_contract(data: DemoData) -> None:
    assert len(data.users) == USER_COUNT
    assert len(data.products) == PRODUCT_COUNT
    assert len(data.categories) == CATEGORY_COUNT
    reviews = sum(count for count, _ in data.ratings.values())
    assert 49_000 <= reviews <= 50_000
    per_user = Counter(order.user_id for order in data.orders.values())
    assert max(per_user.values()) <= 20
    assert set(data.stock) == set(data.products)


def test_users_have_plausible_unique_emails(data: DemoData) -> None:
    emails = [user.email for user in data.users.values()]
    assert len(set(emails)) == len(emails)
    assert all(email.endswith("@example.com") for email in emails)
    assert data.users["u2"].email.startswith(data.users["u2"].name.split()[0].lower())


def test_categories_form_a_two_level_tree(data: DemoData) -> None:
    top = [c for c in data.categories.values() if c.parent_id is None]
    assert [c.id for c in top] == ["c1", "c2", "c3", "c4", "c5"]
    assert data.categories["c3"].name == "Kitchen"
    children = Counter(c.parent_id for c in data.categories.values() if c.parent_id)
    assert children == {f"c{n}": 3 for n in range(1, 6)}


def test_products_spread_evenly_over_categories(data: DemoData) -> None:
    sizes = {key: len(listing) for key, listing in data.listings.items() if key is not None}
    assert sizes == {f"c{n}": 250 for n in range(1, 21)}
    product = data.products["p1"]
    assert product.sku == "SKU-00001"
    assert product.currency == "EUR"
    assert product.image_url == "https://img.example.com/p1.jpg"
    assert len({p.price_cents for p in data.products.values()}) > 50


def test_some_products_are_out_of_stock_and_some_unreviewed(data: DemoData) -> None:
    assert any(stock.available == 0 for stock in data.stock.values())
    assert all(0 <= stock.available <= 60 for stock in data.stock.values())
    assert any(count == 0 for count, _ in data.ratings.values())


def test_reviews_are_newest_first_and_one_per_author_and_product(data: DemoData) -> None:
    for reviews in data.reviews_by_product.values():
        assert [r.created_at for r in reviews] == sorted(
            (r.created_at for r in reviews), reverse=True
        )
        assert len({r.author_id for r in reviews}) == len(reviews)


def test_a_few_prolific_reviewers_write_most_reviews(data: DemoData) -> None:
    written = sorted((len(reviews) for reviews in data.reviews_by_author.values()), reverse=True)
    total = sum(written)
    assert sum(written[:100]) > total / 2  # the top 10% of users
    assert written[0] < len(data.products)  # nobody reviews everything


def test_a_category_page_names_fewer_authors_than_a_user_batch_holds(data: DemoData) -> None:
    # The CategoryListing operation: 50 products, their 3 newest reviews, the authors.
    page = data.listings["c1"][:50]
    authors = {r.author_id for p in page for r in data.reviews_by_product[p.id][:3]}
    assert 50 < len(authors) < 100


def test_orders_price_their_lines_from_the_catalog(data: DemoData) -> None:
    statuses = Counter(order.status for order in data.orders.values())
    assert statuses.most_common(1)[0][0] == "delivered"
    assert set(statuses) == {"placed", "paid", "shipped", "delivered", "cancelled"}
    for order in list(data.orders.values())[:500]:
        assert order.lines
        for line in order.lines:
            assert line.unit_price_cents == data.products[line.product_id].price_cents
        assert order.to_json()["totalCents"] == sum(
            line.quantity * line.unit_price_cents for line in order.lines
        )


def test_timestamps_are_iso_utc_in_2024(data: DemoData) -> None:
    stamps = [order.created_at for order in data.orders.values()]
    stamps += [r.created_at for reviews in data.reviews_by_product.values() for r in reviews]
    assert all(len(s) == 20 and s.startswith("2024-") and s.endswith("Z") for s in stamps)
