"""Files whose name gives them no store-day (a bad name, an unknown store, a day outside the
partitions) cannot reach `store_sales`; this job refuses them the same way, in a run of their
own so the refusal shows in the Dagster UI."""


import datetime as dt

import dagster as dg
from pydantic import Field

from sales_platform.defs.partitions import accepted_days
from sales_platform.defs.upload_intake import refuse
from sales_platform.domain.upload_contract import Problem, Refusal, route_upload
from sales_platform.resources.object_store import ObjectStore
from sales_platform.settings import Settings


class RefuseUploadConfig(dg.Config):
    upload_key: str = Field(description="Bucket key of the upload to refuse.")


def build_refusal_job(settings: Settings) -> dg.JobDefinition:
    layout = settings.storage_layout

    @dg.op(name="refuse_upload_file", out=dg.Out(dg.Nothing), description="Moves the file to rejected/ with an .error.json saying why.")
    def refuse_upload(context: dg.OpExecutionContext, config: RefuseUploadConfig, bucket: dg.ResourceParam[ObjectStore]):
        info = bucket.head(config.upload_key)
        if info is None:
            context.log.info(f"{config.upload_key} is no longer in the inbox; nothing to do")
            return
        first_day, last_day = accepted_days(settings)
        upload, problems = route_upload(info.name, settings.expected_stores, first_day, last_day)
        if upload is not None:
            # Its store-day exists by now (a day rolled over): the next sensor tick processes it.
            context.log.info(f"{info.key} now belongs to store {upload.store_id} on {upload.business_date}; left in the inbox")
            return
        refusal = Refusal(problems or [Problem("the file has no place in the platform")], len(problems) or 1)
        rejected_key, report_key = refuse(bucket, layout, info, refusal, None, dt.datetime.now(dt.timezone.utc))
        context.log.warning(f"refused {info.key}: {refusal.summary}")
        yield dg.Output(
            None,
            metadata={
                "status": "rejected",
                "upload": info.key,
                "rejected_key": rejected_key,
                "error_report": report_key,
                "summary": refusal.summary,
            },
        )

    @dg.job(name="refuse_upload", description="Refuses an upload whose name gives it no store and day.")
    def refuse_upload_job():
        refuse_upload()

    return refuse_upload_job
