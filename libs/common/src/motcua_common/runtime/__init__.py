"""How a service becomes processes: the local platform runner (motcua-platform) and its one
list of services and processes, the nameko worker main (eventlet first) and its dependency providers,
and the setup every bootstrap() shares (clock, pools, calendars, schemas). The top of the library: it
composes the other rooms."""
