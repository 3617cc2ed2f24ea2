"""The bounded one-pass Critic -> Coach -> Therapist rewrite."""
