pytest_plugins = ["motcua_common.testing"]
