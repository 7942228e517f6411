"""From a document to a result: admission, limits, plans, the executor and the response cache."""
