// Types for the reference documents, generated as a frontend team generates
// them: graphql-codegen's client preset over the committed schema.
// `npm run check` generates them into generated/ and type-checks usage.ts.
import type { CodegenConfig } from "@graphql-codegen/cli";

const config: CodegenConfig = {
  schema: "../schema.graphql",
  documents: ["documents/*.graphql"],
  ignoreNoDocuments: false,
  generates: {
    "generated/": {
      preset: "client",
      config: {
        // Every scalar is mapped: an unmapped new one fails here, not as `any`.
        strictScalars: true,
        scalars: { DateTime: "string" },
        useTypeImports: true,
        enumsAsTypes: true,
      },
    },
  },
};

export default config;
