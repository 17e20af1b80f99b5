"""Portal pages: the staff console.

The pages live in `staff_*` modules beside this one; this module gathers their
routes (so the portal's list of areas names `staff` only):

- `staff_dashboard`: `/staff`, what needs doing and four charts (`charts`);
- `staff_requests`: `/staff/requests`, the queue with SLA states, and one request
  worked through (`/transition`, `/assign`, `/reply`);
- `staff_checkin`: `/staff/check-in/{id}`, the code, its QR code and who arrived;
- `staff_desk`: `/staff/shop` (hand over redeemed items) and `/staff/approvals`
  (reflections, smile-wall photos, points awards waiting for a decision);
- `staff_records`: `/staff/announcements`, `/staff/venues`, `/staff/audit`,
  `/staff/exports`.
"""

from __future__ import annotations

from huarong_web.portal import (
    staff_checkin,
    staff_dashboard,
    staff_desk,
    staff_records,
    staff_requests,
)
from huarong_web.portal.pages import PortalRoute

__all__ = ["ROUTES"]

ROUTES: tuple[PortalRoute, ...] = (
    *staff_dashboard.ROUTES,
    *staff_requests.ROUTES,
    *staff_checkin.ROUTES,
    *staff_desk.ROUTES,
    *staff_records.ROUTES,
)
