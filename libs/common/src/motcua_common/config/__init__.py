"""What every process is given: its settings (the one place that reads the environment) and
its clock (time is an input: the system clock in production, a settable one shared by a province's
processes elsewhere; motcua-clock). Nothing here knows about events, the edge or audit."""
