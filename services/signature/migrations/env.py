from quoteflow.migrations import run_env
from services.signature.adapters.orm import metadata

run_env(metadata)
