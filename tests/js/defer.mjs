// Runs a deferred ProductPage through Apollo Client (HttpLink and the
// Defer20220824Handler) as a frontend would, then the same page undeferred.
// Usage: node defer.mjs URL PRODUCT_ID DEFERRED_QUERY WHOLE_QUERY
// Prints one JSON line per result the deferred query's observable emits
// ({"dataState", "data"}), then {"whole": data} for the undeferred query.
import { ApolloClient, HttpLink, InMemoryCache, gql } from "@apollo/client";
import { Defer20220824Handler } from "@apollo/client/incremental";

const [url, id, deferred, whole] = process.argv.slice(2);
const client = new ApolloClient({
  link: new HttpLink({ uri: url }),
  cache: new InMemoryCache(),
  incrementalHandler: new Defer20220824Handler(),
});
const print = (value) => process.stdout.write(JSON.stringify(value) + "\n");

await new Promise((resolve, reject) => {
  client
    .watchQuery({ query: gql(deferred), variables: { id }, fetchPolicy: "no-cache" })
    .subscribe({
      next(result) {
        if (result.error) {
          reject(result.error);
          return;
        }
        if (result.data === undefined) {
          return; // still loading: nothing arrived yet
        }
        print({ dataState: result.dataState, data: result.data });
        if (result.dataState === "complete") {
          resolve();
        }
      },
      error: reject,
    });
});
const answer = await client.query({ query: gql(whole), variables: { id }, fetchPolicy: "no-cache" });
print({ whole: answer.data });
process.exit(0);
