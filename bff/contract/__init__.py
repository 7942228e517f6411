"""The API as a contract: persisted and trusted documents, schema checks, deprecations."""
