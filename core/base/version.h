/* version: the version of wazofs, which packages (their build info) and MOUNT/status say. */
#ifndef WAZOFS_BASE_VERSION_H
#define WAZOFS_BASE_VERSION_H
#define WAZOFS_VERSION "0.2.0"
#endif
