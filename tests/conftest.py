"""Settings every layer of the suite shares."""
from hypothesis import HealthCheck, settings

# Hypothesis' default deadline (200 ms per example) and its "too slow" health check fail a test that a
# loaded machine ran slowly: speed is measured in bench/, never by a test. Examples stay random; a
# failure prints how to reproduce it.
settings.register_profile("quoteflow", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("quoteflow")
