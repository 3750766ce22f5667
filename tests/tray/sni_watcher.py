#!/usr/bin/python3
"""A minimal org.kde.StatusNotifierWatcher (and host) for the tray integration test.

It records every StatusNotifierItem that registers and, every 0.2 s, the Status and
IconName properties of each one, appending lines "item <service> <status> <icon>" to the
log file given as argv[1] whenever they change. Stands in for a panel's watcher on a bus
that has none (a real panel is used for the screenshots).
"""
import sys

import dbus
import dbus.service
from dbus.mainloop.glib import DBusGMainLoop
from gi.repository import GLib

WATCHER = "org.kde.StatusNotifierWatcher"
ITEM = "org.kde.StatusNotifierItem"


class Watcher(dbus.service.Object):
    def __init__(self, bus, log):
        super().__init__(bus, "/StatusNotifierWatcher")
        self.bus = bus
        self.log = log
        self.items = []
        self.seen = {}

    def write(self, line):
        with open(self.log, "a") as f:
            f.write(line + "\n")

    @dbus.service.method(WATCHER, in_signature="s", sender_keyword="sender")
    def RegisterStatusNotifierItem(self, service, sender=None):
        # appindicator passes an object path; the bus name is the sender.
        path = service if service.startswith("/") else "/StatusNotifierItem"
        name = sender if service.startswith("/") else service
        self.items.append((name, path))
        self.write(f"registered {name} {path}")
        self.StatusNotifierItemRegistered(f"{name}{path}")

    @dbus.service.method(WATCHER, in_signature="s")
    def RegisterStatusNotifierHost(self, service):
        pass

    @dbus.service.signal(WATCHER, signature="s")
    def StatusNotifierItemRegistered(self, service):
        pass

    @dbus.service.signal(WATCHER, signature="")
    def StatusNotifierHostRegistered(self):
        pass

    @dbus.service.method(dbus.PROPERTIES_IFACE, in_signature="ss", out_signature="v")
    def Get(self, interface, prop):
        return self.GetAll(interface)[prop]

    @dbus.service.method(dbus.PROPERTIES_IFACE, in_signature="s", out_signature="a{sv}")
    def GetAll(self, interface):
        return {
            "RegisteredStatusNotifierItems": dbus.Array(
                [n + p for n, p in self.items], signature="s"),
            "IsStatusNotifierHostRegistered": dbus.Boolean(True),
            "ProtocolVersion": dbus.Int32(0),
        }

    def poll(self):
        for name, path in list(self.items):
            try:
                props = dbus.Interface(self.bus.get_object(name, path), dbus.PROPERTIES_IFACE)
                status = str(props.Get(ITEM, "Status"))
                icon = str(props.Get(ITEM, "IconName"))
                if status == "NeedsAttention":
                    icon = str(props.Get(ITEM, "AttentionIconName"))
            except dbus.DBusException:
                status, icon = "gone", "-"
            if self.seen.get(name) != (status, icon):
                self.seen[name] = (status, icon)
                self.write(f"item {name} {status} {icon}")
        return True


def main():
    DBusGMainLoop(set_as_default=True)
    bus = dbus.SessionBus()
    watcher = Watcher(bus, sys.argv[1])
    bus.request_name(WATCHER)
    bus.request_name("org.kde.StatusNotifierHost-test")
    GLib.timeout_add(200, watcher.poll)
    GLib.MainLoop().run()


if __name__ == "__main__":
    main()
