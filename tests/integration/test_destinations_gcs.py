"""
Landing reports in Google Cloud Storage through ``ObjectStoragePath("gs://...")`` (the google
provider and gcsfs) against a real GCS protocol server on loopback (fake-gcs-server): one resumable
upload straight to the final key, finalized only after the verified download and cancelled on
failure; assets and lineage named ``gs://<bucket>`` as GCS names them.
"""

from __future__ import annotations

import hashlib

from airflow_provider_canvas_reports.lineage import file_name
from airflow_provider_canvas_reports.testing import Fault
from tests.dags import canvas_data_stack as stack
from tests.helpers import EXTRA_KEYS, download_conf, events_for, finished_report, register, run_dag
from tests.store_servers import GCS_CONN_ID

MIB = 1 << 20


def objects(gcs, bucket: str) -> list[str]:
    import gcsfs

    fs = gcsfs.GCSFileSystem(endpoint_url=gcs.url, token="anon", project="canvas-landing-tests")
    return sorted(path.split("/", 1)[1] for path in fs.find(bucket))


def sessions(gcs, bucket: str) -> dict[str, int]:
    """Resumable uploads to ``bucket`` the server saw: opened, finalized (a last chunk), cancelled."""
    prefix = f"/upload/storage/v1/b/{bucket}/o?"
    seen = [(m, t, s) for m, t, s in gcs.requests() if t.startswith(prefix) and "uploadType=resumable" in t]
    return {
        "opened": sum(1 for m, t, _ in seen if m == "POST" and "upload_id=" not in t),
        "finalized": sum(1 for m, t, s in seen if "upload_id=" in t and m in ("POST", "PUT") and s == 200),
        "cancelled": sum(1 for m, _, s in seen if m == "DELETE" and s == 499),
    }


def test_report_lands_in_gcs_with_its_exact_bytes_named_as_gcs_names_it(emulator, gcs, gcs_bucket):
    from airflow.providers.common.compat.sdk import ObjectStoragePath

    register(stack.alias)
    report = finished_report(emulator, 270, sections=(1, 2), file_size=20 * MIB)
    destination = f"gs://{GCS_CONN_ID}@{gcs_bucket}/canvas/2024-01-01/"

    result = run_dag(stack.alias, run_conf=download_conf(270, report, destination))

    assert result.state == "success", result.task_states
    landed = result.xcom("download")
    key = "canvas/2024-01-01/course_pace.zip"
    assert landed["uri"] == f"gs://{GCS_CONN_ID}@{gcs_bucket}/{key}"
    assert objects(gcs, gcs_bucket) == [key]  # no temporary object, ever kept
    assert sessions(gcs, gcs_bucket) == {"opened": 1, "finalized": 1, "cancelled": 0}
    data = ObjectStoragePath(landed["uri"]).read_bytes()  # the XCom reopens
    assert len(data) == landed["size"] == report["attachment"]["size"]
    assert hashlib.sha256(data).hexdigest() == landed["sha256"] == emulator.file_sha256(report["id"])
    # The asset event and the lineage dataset name the object as GCS does, without the connection.
    asset_uri = f"gs://{gcs_bucket}/{key}"
    (extra,) = events_for(asset_uri)
    assert extra == {k: landed[k] for k in EXTRA_KEYS}
    namespace, name = file_name(asset_uri)
    assert (namespace, name) == (f"gs://{gcs_bucket}", key)
    reopened = ObjectStoragePath(f"{namespace}/{name}", conn_id=GCS_CONN_ID).read_bytes()
    assert hashlib.sha256(reopened).hexdigest() == landed["sha256"]


def test_a_failed_download_leaves_no_object_and_cancels_the_resumable_upload(emulator, gcs, gcs_bucket):
    report = finished_report(emulator, 271, sections=(1, 2), file_size=24 * MIB)
    # Every storage answer breaks off after 4 MiB; three attempts (resumed) bring 12 MiB, so the
    # resumable upload has received a first 8 MiB chunk before the task gives up.
    emulator.add_fault(Fault(kind="truncate", server="storage", count=-1, truncate_at=4 * MIB))

    result = run_dag(
        stack.download_only_s3, run_conf=download_conf(271, report, f"gs://{GCS_CONN_ID}@{gcs_bucket}/out/")
    )

    assert result.state == "failed"
    assert len([r for r in emulator.requests if r.server == "storage"]) == 3
    assert objects(gcs, gcs_bucket) == []
    assert sessions(gcs, gcs_bucket) == {"opened": 1, "finalized": 0, "cancelled": 1}


def test_a_missing_gcs_bucket_fails_before_anything_is_fetched(emulator, gcs, capfd):
    destination = f"gs://{GCS_CONN_ID}@no-such-bucket-here/canvas/"

    result = run_dag(stack.retried, run_conf={"course_id": 272, "report_id": 1, "destination": destination})

    assert (result.state, result.task_tries["download"]) == ("failed", 1)
    out = capfd.readouterr().out
    assert f"Cannot write the report to destination {destination!r}" in out
    assert "the bucket 'no-such-bucket-here' does not exist" in out
    assert emulator.requests == []
