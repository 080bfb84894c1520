"""Asking for a collection of provider batches: once while one is queued or running, and never an
error when another reconciler has just asked."""

from __future__ import annotations

from rq.job import Job, JobStatus

from labelwise.labeling.queue import COLLECT_JOB_ID, Delivery, connect
from labelwise.settings import Settings


def test_a_collection_is_asked_for_once_while_one_is_queued_or_running(
    settings: Settings,
) -> None:
    delivery = Delivery(connect(settings.redis_url), settings.queue_name)
    delivery.redis.delete(f"rq:job:{COLLECT_JOB_ID}")
    assert delivery.enqueue_collect() is True
    # Queued: a second reconciler does not ask again.
    assert delivery.enqueue_collect() is False
    job = Job.fetch(COLLECT_JOB_ID, connection=delivery.redis)
    # Running: not again either; enqueuing over a running job is what RQ refuses.
    job.set_status(JobStatus.STARTED)
    assert delivery.enqueue_collect() is False
    # Gone (a finished job keeps no result), even between the fetch and the status read: the
    # next pass asks again.
    job.delete()
    assert delivery.enqueue_collect() is True
    delivery.redis.hdel(f"rq:job:{COLLECT_JOB_ID}", "status")
    assert delivery.is_waiting(COLLECT_JOB_ID) is False
