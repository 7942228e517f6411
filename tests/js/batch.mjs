// Runs queries as a frontend batching with Apollo Client does: BatchHttpLink,
// every query sent within one batch interval. Usage: node batch.mjs URL QUERY
// VARIABLES_JSON... (one query, run once per variables object). Prints
// {"requests": [...], "results": [...]}: the bodies fetch sent, and each
// query's result (data, or the error message), in the order asked.
import { ApolloClient, InMemoryCache, gql } from "@apollo/client";
import { BatchHttpLink } from "@apollo/client/link/batch-http";

const [url, query, ...variables] = process.argv.slice(2);
const requests = [];
const counted = (uri, options) => {
  requests.push(JSON.parse(options.body));
  return fetch(uri, options);
};
const client = new ApolloClient({
  link: new BatchHttpLink({ uri: url, fetch: counted, batchMax: 10, batchInterval: 20 }),
  cache: new InMemoryCache(),
});
const document = gql(query);
const results = await Promise.all(
  variables.map((json) =>
    client
      .query({ query: document, variables: JSON.parse(json), fetchPolicy: "no-cache" })
      .then(
        (result) => ({ data: result.data, error: result.error?.message ?? null }),
        (error) => ({ data: null, error: String(error) }),
      ),
  ),
);
process.stdout.write(JSON.stringify({ requests, results }));
