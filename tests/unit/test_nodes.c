/* Unit tests of fs/nodes.c (the inode table; no kernel): names and paths of the tree's
 * nodes, one node per backing object of a copy whatever its names, renames, and nodes
 * freed when the kernel forgets them (their parents with them). */
#include "check.h"
#include "nodes.h"
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

static const char *path_of(struct node *n)
{
	static char buf[PATH_MAX];
	return nodes_path(n, buf, sizeof(buf)) == 0 ? buf : "(error)";
}

/* An O_PATH descriptor, as incoming.c gives a copy's node. */
static int some_fd(void)
{
	return open("/", O_PATH | O_CLOEXEC);
}

static void test_views(void)
{
	struct node *root = nodes_get(FUSE_ROOT_ID);
	CHECK(root != NULL);
	CHECK_STR(path_of(root), "/");
	struct node *ns = nodes_lookup_view(root, "demo");
	struct node *pl = nodes_lookup_view(ns, "hello");
	struct node *st = nodes_lookup_view(pl, "status");
	CHECK_STR(path_of(st), "/demo/hello/status");
	CHECK(nodes_lookup_view(ns, "hello") == pl); /* the same name: the same node */
	CHECK(nodes_get(st->ino) == st);
	CHECK(nodes_child(pl, "status") == st);
	fuse_ino_t ino, parent;
	nodes_path_inos("/demo/hello/status", &ino, &parent);
	CHECK_INT(ino, st->ino);
	CHECK_INT(parent, pl->ino);
	nodes_path_inos("/demo/hello/log", &ino, &parent); /* not held: only its directory */
	CHECK_INT(ino, 0);
	CHECK_INT(parent, pl->ino);
	nodes_path_inos("/demo/other/status", &ino, &parent);
	CHECK_INT(ino, 0);
	CHECK_INT(parent, 0);
	CHECK(nodes_view_ino("/demo/hello/status") == nodes_view_ino("/demo/hello/status"));
	CHECK(nodes_view_ino("/demo/hello/status") != nodes_view_ino("/demo/hello/log"));
	CHECK(nodes_view_ino("/") >= (1ULL << 62));
	/* forgotten: the leaf goes; its parents stay while the kernel holds them */
	fuse_ino_t st_ino = st->ino, pl_ino = pl->ino, ns_ino = ns->ino;
	nodes_forget(st_ino, 1);
	CHECK(nodes_get(st_ino) == NULL);
	CHECK(nodes_get(pl_ino) == pl);
	/* a parent forgotten while a child is held stays until the child goes */
	struct node *lg = nodes_lookup_view(pl, "log");
	fuse_ino_t lg_ino = lg->ino;
	nodes_forget(pl_ino, 2);
	nodes_forget(ns_ino, 1);
	CHECK(nodes_get(pl_ino) == pl);
	CHECK_STR(path_of(lg), "/demo/hello/log");
	nodes_forget(lg_ino, 1);
	CHECK(nodes_get(lg_ino) == NULL);
	CHECK(nodes_get(pl_ino) == NULL);
	CHECK(nodes_get(ns_ino) == NULL);
	nodes_forget(FUSE_ROOT_ID, 100); /* the root never goes */
	CHECK(nodes_get(FUSE_ROOT_ID) == root);
}

static void test_copies(void)
{
	struct node *root = nodes_get(FUSE_ROOT_ID);
	struct node *inc = nodes_lookup_view(root, "incoming");
	struct node *dir = nodes_lookup_copy(inc, "plug", 1000, some_fd());
	struct node *f = nodes_lookup_copy(dir, "f", 1001, some_fd());
	CHECK_STR(path_of(f), "/incoming/plug/f");
	/* a hard link: another name, the same backing object, the same node */
	struct node *g = nodes_lookup_copy(dir, "g", 1001, some_fd());
	CHECK(g == f);
	CHECK_INT(f->nlookup, 2);
	CHECK_STR(path_of(f), "/incoming/plug/g"); /* named by its last lookup */
	/* renamed (mv plug other): what is below follows */
	nodes_rename(dir, inc, "other");
	CHECK_STR(path_of(f), "/incoming/other/g");
	CHECK(nodes_child(inc, "other") == dir);
	CHECK(nodes_child(inc, "plug") == NULL);
	/* a view node and a copy's node of one name are two nodes */
	struct node *v = nodes_lookup_view(inc, "x.status");
	struct node *c = nodes_lookup_copy(inc, "x.status", 1002, some_fd());
	CHECK(v != c);
	CHECK(nodes_lookup_view(inc, "x.status") != c);
	/* what the kernel holds below a path (a drop of a subtree) */
	struct name_list below = { 0 };
	nodes_below("/incoming", &below);
	CHECK(name_list_has(&below, "/incoming/other"));
	CHECK(name_list_has(&below, "/incoming/other/g"));
	CHECK(name_list_has(&below, "/incoming/x.status"));
	CHECK(!name_list_has(&below, "/incoming"));
	name_list_free(&below);
	nodes_below("/incoming/other/g", &below);
	CHECK_INT(below.n, 0);
	nodes_below("/not/held", &below);
	CHECK_INT(below.n, 0);
	/* names far too long for a path say so */
	struct node *n = dir;
	char name[201];
	memset(name, 'a', 200);
	name[200] = 0;
	for (int i = 0; i < 30; i++)
		n = nodes_lookup_view(n, name);
	char small[64];
	CHECK_INT(nodes_path(n, small, sizeof(small)), -ENAMETOOLONG);
	nodes_free();
}

int main(void)
{
	nodes_init();
	RUN(test_views);
	nodes_init();
	RUN(test_copies);
	return CHECK_SUMMARY();
}
