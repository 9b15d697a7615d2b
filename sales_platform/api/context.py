"""What every route works with, built once when the app is created."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request

from sales_platform.api.dashboard_reads import DashboardReader
from sales_platform.api.file_listing import FileLister
from sales_platform.api.url_signing import LocalUrlSigner
from sales_platform.api.view_cache import ViewCache
from sales_platform.resources.metrics_table import MetricsTable
from sales_platform.resources.object_store import ObjectStore
from sales_platform.settings import Settings


@dataclass
class ApiContext:
    settings: Settings
    bucket: ObjectStore
    table: MetricsTable
    signer: LocalUrlSigner | None  # None: the bucket presigns its own URLs (S3)
    dashboard: DashboardReader
    files: FileLister
    views: ViewCache[bytes]
    dates: ViewCache[list[str]]

    @property
    def download_prefixes(self) -> tuple[str, ...]:
        return self.settings.storage.layout.download_prefixes

    def public_base_url(self, request: Request) -> str:
        """Where signed local URLs point: PUBLIC_API_URL, else the API's address on the host this
        request reached."""
        return self.settings.api.public_api_url or str(request.base_url).rstrip("/") + self.settings.api.api_path_prefix

    async def available_dates(self) -> list[str]:
        return await self.dates.get("available_dates", self.dashboard.available_dates)

    def close(self) -> None:
        self.dashboard.close()
        self.files.close()


async def get_context(request: Request) -> ApiContext:
    return request.app.state.context
