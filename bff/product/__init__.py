"""Product decisions: experiments, feature flags and usage analytics."""
