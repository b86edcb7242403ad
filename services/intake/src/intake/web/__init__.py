"""The HTTP entrypoint: thin routes over the use cases in `intake.use_cases`."""
