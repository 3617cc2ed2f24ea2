"""Generated gRPC/protobuf stubs for proto/theraguard/v1 (regenerate with ``make proto``; never edit)."""
