"""All repositories over one database."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from storage.answers import AnswerRepository
from storage.audiences import AudienceRepository
from storage.backends import open_database
from storage.contacts import ContactRepository
from storage.dashboard_accounts import DashboardAccountRepository
from storage.dashboard_sessions import DashboardSessionRepository
from storage.erasure import ErasureRepository
from storage.followups import FollowupRepository
from storage.imports import ImportRepository
from storage.inbox import InboxRepository
from storage.invitations import InvitationRepository
from storage.link_views import LinkViewRepository
from storage.outbox import OutboxRepository
from storage.pending_sends import PendingSendRepository
from storage.prompts import SentPromptRepository
from storage.reports import ReportRepository
from storage.settings import SettingsRepository
from storage.suppressions import SuppressionRepository
from storage.team_reports import TeamReportRepository
from storage.unit_of_work import DatabaseBackend
from storage.whatsapp import WhatsAppRepository


@dataclass
class Store:
    database: DatabaseBackend
    contacts: ContactRepository
    audiences: AudienceRepository
    invitations: InvitationRepository
    answers: AnswerRepository
    outbox: OutboxRepository
    inbox: InboxRepository
    prompts: SentPromptRepository
    reports: ReportRepository
    settings: SettingsRepository
    followups: FollowupRepository
    team_reports: TeamReportRepository
    suppressions: SuppressionRepository
    erasure: ErasureRepository
    pending_sends: PendingSendRepository
    dashboard_sessions: DashboardSessionRepository
    dashboard_accounts: DashboardAccountRepository
    link_views: LinkViewRepository
    imports: ImportRepository
    whatsapp: WhatsAppRepository

    @classmethod
    async def open(cls, path: str | Path) -> Store:
        """The SQLite file at `path`, or PostgreSQL when `path` is a postgresql:// URL."""
        return cls.over(await open_database(str(path)))

    @classmethod
    def over(cls, database: DatabaseBackend) -> Store:
        suppressions = SuppressionRepository(database)
        return cls(
            database=database,
            contacts=ContactRepository(database, suppressions),
            audiences=AudienceRepository(database),
            invitations=InvitationRepository(database),
            answers=AnswerRepository(database),
            outbox=OutboxRepository(database),
            inbox=InboxRepository(database),
            prompts=SentPromptRepository(database),
            reports=ReportRepository(database),
            settings=SettingsRepository(database),
            followups=FollowupRepository(database),
            team_reports=TeamReportRepository(database),
            suppressions=suppressions,
            erasure=ErasureRepository(database, suppressions),
            pending_sends=PendingSendRepository(database),
            dashboard_sessions=DashboardSessionRepository(database),
            dashboard_accounts=DashboardAccountRepository(database),
            link_views=LinkViewRepository(database),
            imports=ImportRepository(database),
            whatsapp=WhatsAppRepository(database),
        )

    async def close(self) -> None:
        await self.database.close()
