"""GraphQL over WebSocket: the protocol, sessions and the subscriptions they run."""
