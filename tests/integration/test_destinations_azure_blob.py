"""
Landing reports in Azure Blob Storage through ``ObjectStoragePath("abfs://...")`` (the azure
provider and adlfs) against Azurite on loopback: blocks staged on the final blob while the download
goes on, committed as one block list only after the verified download; a failure leaves no blob and
no uncommitted block; assets and lineage named ``abfss://<container>@<account>.dfs.core.windows.net``.
"""

from __future__ import annotations

import hashlib

from airflow_provider_canvas_reports.lineage import file_name
from airflow_provider_canvas_reports.testing import Fault
from tests.dags import canvas_data_stack as stack
from tests.helpers import (
    AIRFLOW_V_3,
    EXTRA_KEYS,
    download_conf,
    events_for,
    finished_report,
    register,
    run_dag,
)
from tests.store_servers import AZURE_CONN_ID, AZURITE_ACCOUNT

MIB = 1 << 20


def blobs(azurite, container: str, uncommitted: bool = False) -> list[str]:
    client = azurite.service().get_container_client(container)
    return sorted(b.name for b in client.list_blobs(include=["uncommittedblobs"] if uncommitted else None))


def test_report_lands_in_azure_blob_as_one_block_list_named_as_azure_names_it(emulator, azurite, container):
    from airflow.providers.common.compat.sdk import ObjectStoragePath

    register(stack.alias)
    report = finished_report(emulator, 280, sections=(1, 2), file_size=20 * MIB)
    destination = f"abfs://{AZURE_CONN_ID}@{container}/canvas/2024-01-01/"

    result = run_dag(stack.alias, run_conf=download_conf(280, report, destination))

    assert result.state == "success", result.task_states
    landed = result.xcom("download")
    key = "canvas/2024-01-01/course_pace.zip"
    assert landed["uri"] == f"abfs://{AZURE_CONN_ID}@{container}/{key}"
    assert blobs(azurite, container, uncommitted=True) == [key]  # no temporary blob, no stray block
    committed, uncommitted = azurite.service().get_blob_client(container, key).get_block_list("all")
    assert (len(committed), len(uncommitted)) == (3, 0)  # 20 MiB in 8 MiB blocks, one commit
    data = ObjectStoragePath(landed["uri"]).read_bytes()  # the XCom reopens
    assert len(data) == landed["size"] == report["attachment"]["size"]
    assert hashlib.sha256(data).hexdigest() == landed["sha256"] == emulator.file_sha256(report["id"])
    # The asset event and the lineage dataset name the blob as Azure does (ADLS Gen2 form). Airflow
    # 2.11 drops a Dataset URI's user part as if it were credentials: there, the container is gone
    # from the Dataset's URI (and stays in the event's extra ``uri``).
    named = f"abfss://{container}@{AZURITE_ACCOUNT}.dfs.core.windows.net/{key}"
    asset_uri = named if AIRFLOW_V_3 else f"abfss://{AZURITE_ACCOUNT}.dfs.core.windows.net/{key}"
    (extra,) = events_for(asset_uri)
    assert extra == {k: landed[k] for k in EXTRA_KEYS}
    assert file_name(named) == (f"abfss://{container}@{AZURITE_ACCOUNT}.dfs.core.windows.net", key)


def test_a_failed_download_leaves_no_blob_and_no_uncommitted_block(emulator, azurite, container):
    report = finished_report(emulator, 281, sections=(1, 2), file_size=24 * MIB)
    # Every storage answer breaks off after 4 MiB; three attempts (resumed) bring 12 MiB, so a
    # first 8 MiB block is staged before the task gives up.
    emulator.add_fault(Fault(kind="truncate", server="storage", count=-1, truncate_at=4 * MIB))

    result = run_dag(
        stack.download_only_s3,
        run_conf=download_conf(281, report, f"abfs://{AZURE_CONN_ID}@{container}/out/"),
    )

    assert result.state == "failed"
    assert len([r for r in emulator.requests if r.server == "storage"]) == 3
    assert blobs(azurite, container, uncommitted=True) == []


def test_a_failed_overwrite_leaves_the_existing_blob_as_it_was(emulator, azurite, container):
    report = finished_report(emulator, 282, sections=(1, 2), file_size=24 * MIB)
    azurite.service().get_blob_client(container, "out/course_pace.zip").upload_blob(b"yesterday")
    emulator.add_fault(Fault(kind="truncate", server="storage", count=-1, truncate_at=4 * MIB))

    result = run_dag(
        stack.download_only_s3,
        run_conf=download_conf(282, report, f"abfs://{AZURE_CONN_ID}@{container}/out/"),
    )

    assert result.state == "failed"
    blob = azurite.service().get_blob_client(container, "out/course_pace.zip")
    assert blob.download_blob().readall() == b"yesterday"
    assert blobs(azurite, container, uncommitted=True) == ["out/course_pace.zip"]


def test_a_missing_container_fails_before_anything_is_fetched(emulator, azurite, capfd):
    destination = f"abfs://{AZURE_CONN_ID}@no-such-container/canvas/"

    result = run_dag(stack.retried, run_conf={"course_id": 283, "report_id": 1, "destination": destination})

    assert (result.state, result.task_tries["download"]) == ("failed", 1)
    out = capfd.readouterr().out
    assert f"Cannot write the report to destination {destination!r}" in out
    assert "the bucket 'no-such-container' does not exist" in out
    assert emulator.requests == []
