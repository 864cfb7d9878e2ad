# bench-lib.sh: what the benchmark scripts share (sourced, not run).
now() { date +%s%N; }
ms() { echo $((($2 - $1) / 1000000)); }
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / (b ? b : 1) }'; }
# mkroot DIR: an empty dpkg database under DIR (a throwaway root)
mkroot() {
	mkdir -p "$1/var/lib/dpkg/info" "$1/var/lib/dpkg/updates"
	touch "$1/var/lib/dpkg/status"
}
