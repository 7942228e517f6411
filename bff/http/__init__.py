"""The HTTP edge: the Starlette app, the /graphql endpoint, health, GraphiQL and shutdown."""
