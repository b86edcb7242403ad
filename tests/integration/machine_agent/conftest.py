from tests.support.agents import agent_fleet  # noqa: F401  (the fixture)
