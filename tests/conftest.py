"""Settings every layer of the suite shares."""
from hypothesis import settings

# Hypothesis' default deadline (200 ms per example) fails an example that a loaded machine ran slowly:
# speed is measured in bench/, never by a test. Examples stay random; a failure prints its seed.
settings.register_profile("quoteflow", deadline=None)
settings.load_profile("quoteflow")
