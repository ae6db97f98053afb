pytest_plugins = ["motcua_testkit.plugin"]
