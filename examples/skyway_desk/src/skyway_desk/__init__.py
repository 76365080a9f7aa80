"""The SkyWay airline desk: the tools of stepvox's reference customer-service persona (Mia,
`skyway-agent`) over a booking database, shipped as a tool plugin.

It is the worked example of a plugin with side effects: bookings are read and changed through
`service` and `records`, every write asks the caller's approval, and `stepvox eval scenarios`
scores whole calls against the database it leaves. Imports `tools` only.
"""

from skyway_desk.desk import airline_desk_tools

__all__ = ["airline_desk_tools"]
