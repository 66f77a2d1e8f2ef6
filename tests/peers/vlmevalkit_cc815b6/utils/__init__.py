from ..shim import DEBUG_MESSAGE, build_judge  # noqa: F401
