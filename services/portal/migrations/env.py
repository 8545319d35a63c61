from quoteflow.migrations import run_env
from services.portal.adapters.orm import metadata

run_env(metadata)
