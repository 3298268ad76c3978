"""The foundation every layer uses: typed messages, errors, options, the backend registry, paths, secrets,
threads, the turn log, the model hubs."""
