from quoteflow.migrations import run_env
from services.quotes.adapters.orm import metadata

run_env(metadata)
