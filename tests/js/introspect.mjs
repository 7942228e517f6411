// Fetches the schema as graphql-js tools do (GraphiQL, graphql-codegen, Apollo's),
// with every option of getIntrospectionQuery on, rebuilds it with buildClientSchema
// and prints it. Usage: node introspect.mjs URL. Exits 1, with the answer on
// stderr, when the BFF refuses the query.
import { buildClientSchema, getIntrospectionQuery, printSchema } from "graphql";

const query = getIntrospectionQuery({
  descriptions: true,
  specifiedByUrl: true,
  directiveIsRepeatable: true,
  schemaDescription: true,
  inputValueDeprecation: true,
  experimentalDirectiveDeprecation: true,
  oneOf: true,
});
const response = await fetch(process.argv[2], {
  method: "POST",
  headers: {
    "content-type": "application/json",
    accept: "application/graphql-response+json, application/json",
  },
  body: JSON.stringify({ query, operationName: "IntrospectionQuery" }),
});
const answer = await response.text();
const body = JSON.parse(answer);
if (!response.ok || body.errors || !body.data) {
  process.stderr.write(`${response.status} ${answer}\n`);
  process.exit(1);
}
process.stdout.write(printSchema(buildClientSchema(body.data)));
