"""The motcua test kit: a pytest plugin (motcua_testkit.plugin, loaded by the root conftest.py)
with fixtures for a test database, a broker vhost, a settable clock and service processes. A separate
distribution (libs/testkit) so the runtime package shipped in service images carries no test code."""
