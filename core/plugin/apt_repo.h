/* apt_repo: an APT repository (Debian's repository format) made from a directory of
 * .deb files, held in memory:
 *   pool/main/<file>.deb
 *   dists/wazofs/main/binary-all/Packages, Packages.gz
 *   dists/wazofs/Release, and InRelease when signed (gpg)
 *   key.gpg, the public key that signs, when signed
 * Packages stanzas are the control fields in dpkg-scanpackages's order with Filename,
 * Size, MD5sum, SHA1 and SHA256; Release lists the MD5Sum and SHA256 of each index. */
#ifndef WAZOFS_APT_REPO_H
#define WAZOFS_APT_REPO_H
#include "base/error.h"
#include "base/name_list.h"
#include "base/strbuf.h"
#include <sys/types.h>
#include <time.h>

#define APT_REPO_SUITE "wazofs"

struct repo_package {
	char *file;		 /* its name in the directory (and in pool/main/) */
	char *package, *version; /* from its control file */
	off_t size;
	struct timespec mtime;
	ino_t ino;
	char *stanza; /* its Packages paragraph, ending with a blank line */
};

struct apt_repo {
	struct repo_package *pkgs; /* sorted by file name */
	size_t n;
	char dir[4096];		/* where the files are */
	struct strbuf packages; /* dists/wazofs/main/binary-all/Packages */
	struct strbuf packages_gz;
	struct strbuf release, inrelease, key; /* inrelease and key: empty when unsigned */
	struct timespec built;		       /* when the package set last changed */
};

/* Reads every *.deb of dir into out. A file that is the same as in prev (name, inode,
 * size, mtime) keeps its stanza, so it is not read and hashed again. A file that cannot
 * be read is left out, with a line in warnings. now: the Release's Date. 0 or -errno. */
int apt_repo_build(const char *dir, const struct apt_repo *prev, time_t now, struct apt_repo *out,
		   struct strbuf *warnings);
/* InRelease (gpg --clearsign, SHA256) and key.gpg with key from the daemon's keyring.
 * 0, or -errno with gpg's reason in err (the repository then stays unsigned). */
int apt_repo_sign(struct apt_repo *r, const char *key, unsigned timeout_sec, struct error *err);
/* 1 when a and b list the same files (by name, inode, size and mtime). */
int apt_repo_same_files(const struct apt_repo *a, const struct apt_repo *b);
void apt_repo_free(struct apt_repo *r);

/* The package kept as file (its name in r->dir), or NULL. */
const struct repo_package *apt_repo_find(const struct apt_repo *r, const char *file);

/* A path below repo/ ("" is repo/ itself). */
enum repo_node { REPO_NONE, REPO_DIR, REPO_TEXT, REPO_FILE };
/* What rel is: a directory, an index in memory (*text), or a package (*file: its name
 * in r->dir). */
enum repo_node apt_repo_lookup(const struct apt_repo *r, const char *rel,
			       const struct strbuf **text, const char **file);
/* The names in directory rel; -ENOTDIR or -ENOENT. */
int apt_repo_list(const struct apt_repo *r, const char *rel, struct name_list *out);
#endif
