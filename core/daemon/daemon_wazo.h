/* daemon_wazo: the running Wazo version. It is wazo_version= when given, else the
 * WAZO_VERSION environment variable (config_finish), else the first line of
 * <root>/usr/share/wazo/WAZO-VERSION, read at start and again whenever inotify sees
 * its directory change (upgrades replace the file by a rename). A read that is refused
 * (empty, binary, huge, not a version, gone) keeps the last good version and says why
 * in syslog and MOUNT/status. */
#ifndef WAZOFS_DAEMON_WAZO_H
#define WAZOFS_DAEMON_WAZO_H
#include "registry.h"

/* At start: the version from the settings, or the file's (and its inotify fd in
 * p->wazo_fd, for the loop; -1 when the version is given or inotify cannot). */
void wazo_version_start(struct daemon *p);
/* The loop saw p->wazo_fd: reads the file again. Returns 1 when a known version
 * changed to another (an upgrade, or a downgrade). */
int wazo_version_event(struct daemon *p);
/* Closes p->wazo_fd. */
void wazo_version_stop(struct daemon *p);
#endif
