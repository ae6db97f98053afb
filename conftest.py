pytest_plugins = ["motcua_testkit.plugin", "motcua_testkit.identities"]
