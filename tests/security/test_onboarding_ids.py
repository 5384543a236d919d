"""`sentral tenant onboard` names files after the tenant id of the agency's file: an id
that is not a plain id (a trailing newline slips through a `$`-anchored pattern, a path,
non-ASCII letters) is refused before any file or row is written."""
from __future__ import annotations

import pytest

from tests.test_cli_tenant import TENANT, database, files, onboard, site  # noqa: F401  (site is a fixture)


@pytest.mark.parametrize("tenant_id", ['"havbris\\n"', '"../havbris"', '"havbris/x"', '"hævbris"', '"havbris "'])
def test_a_tenant_id_that_is_no_plain_id_is_refused_and_nothing_is_written(site, tenant_id):  # noqa: F811
    config, new, url = site
    before_files, before_rows = files(config.parent), database(url)
    result = onboard(site, tenant_text=TENANT.replace("id: havbris", f"id: {tenant_id}", 1))
    assert result.returncode == 1, result.stdout + result.stderr
    assert files(config.parent) == before_files
    assert database(url) == before_rows
