"""The worker: the one package that imports Faust (topology, agents, tables, runtime)."""
