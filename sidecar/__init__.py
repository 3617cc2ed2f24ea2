"""TheraGuard sidecar: the gRPC guardrail runtime (never imports export/ or torch)."""

__version__ = "0.1.0"
