# kensus-tracker: the in-container half of an exec scan (POSIX sh: busybox ash, dash, bash).
#
# The coordinator sends this text on the exec channel's stdin to `sh -s`, preceded by a preamble
# that sets the plan as shell variables (see src/exec/script.ts):
#   KT_TIME  seconds the walk may take        KT_BYTES  content bytes it may send in total
#   KT_NETFS 1 to walk network filesystems    KT_PKGCAP bytes of a package-database answer
#   KT_ENVCAP bytes of PID 1's environment    KT_N      number of probes
#   kt_match  a function testing a path against the plan's globs ('*' crosses '/'); sets kt_m
#   KT_ROOT  optional directory to treat as / (tests, a host's /proc/PID/root)
#   KT_MOUNTS optional mount table to read instead of /proc/mounts (tests)
#
# Nothing is written into the container: no file, no temp file, no here-document (some shells
# back those with temp files). Output is a stream of frames on stdout:
#   KENSUS1 <type> <name bytes> <payload bytes> [fields...]\n<name><payload>
# so any byte in a file name survives. Types: H hello, F file, D dir, S symlink (payload: target),
# O other (fifo, socket, device), N not readable, E environ of PID 1, Q rpm query answer,
# G strings found in the file just sent (payload: matching lines),
# B budget hit, P progress, X end. Every write is checked: when stdout closes the tracker exits.

LC_ALL=C
export LC_ALL

kt_sent=0 kt_nd=0 kt_nf=0 kt_stop= kt_wpid=

kt_quit() {
  [ -n "$kt_wpid" ] && kill "$kt_wpid" 2>/dev/null
  exit 0
}

# kt_frame TYPE NAME PAYLOAD-LENGTH FIELDS: writes a header and the name; payload follows.
kt_frame() {
  printf 'KENSUS1 %s %d %d%s\n%s' "$1" "${#2}" "$3" "$4" "$2" || kt_quit
}

# Writes exactly $2 bytes of file $1: if the file shrank since it was measured, zeros fill the
# gap so the stream never loses its framing.
kt_bytes() {
  { head -c "$2" "$1" 2>/dev/null; head -c "$2" /dev/zero 2>/dev/null; } | head -c "$2" || kt_quit
}

# Small text payloads (frame name empty, payload in $2).
kt_text() {
  printf 'KENSUS1 %s 0 %d%s\n%s' "$1" "${#2}" "$3" "$2" || kt_quit
}

if command -v stat >/dev/null 2>&1; then
  kt_stat() {
    # shellcheck disable=SC2046
    set -- $(stat -c '%s %f' "$1" 2>/dev/null)
    kt_size=${1:-0} kt_mode=${2:-0}
  }
else
  # ls -lnd: permission string and size; the coordinator understands both mode forms.
  kt_stat() {
    # set -f: the file name at the end of the line must not be globbed.
    set -f
    # shellcheck disable=SC2046
    set -- $(ls -lnd "$1" 2>/dev/null)
    set +f
    kt_mode=${1:-0} kt_size=${5:-0}
    case $kt_size in *[!0-9]*|'') kt_size=0 ;; esac
    kt_mode="p$kt_mode"
  }
fi

# kt_match PATH: sets kt_m (content bytes wanted) and succeeds when PATH is a candidate. The
# coordinator's preamble defines it from the plan as literal case patterns (no variable expansion
# per path). Without one, nothing is a candidate.
command -v kt_match >/dev/null 2>&1 || kt_match() { return 1; }

# kt_scan PATH HOSTPATH: the plan's byte search (strings rules) for a candidate file, defined by
# the coordinator's preamble as case patterns calling kt_strings. Without one, nothing is searched.
command -v kt_scan >/dev/null 2>&1 || kt_scan() { return 0; }

# kt_strings FILE BUDGET ERE: the needles' matches (each with its printable window) in the first
# BUDGET bytes of FILE, one per line, at most 4 KiB: head -c bounds what is read, grep -o what is
# sent. NULs become line ends first: strings in binaries are NUL-terminated, and busybox grep
# would otherwise see one endless line and report only its first match. A G frame carries them; the coordinator keeps each needle's first match. Without grep
# (some minimal images) nothing is searched and the coordinator relies on the other evidence.
kt_hasgrep=
command -v grep >/dev/null 2>&1 && command -v head >/dev/null 2>&1 && command -v tr >/dev/null 2>&1 && kt_hasgrep=1
kt_strings() {
  [ -n "$kt_hasgrep" ] && [ -r "$1" ] || return 0
  kt_g=$(head -c "$2" "$1" 2>/dev/null | tr '\000' '\n' | grep -a -o -E -e "$3" 2>/dev/null | head -c 4096)
  [ -n "$kt_g" ] || return 0
  kt_frame G "$kt_p" "${#kt_g}" ''
  printf '%s' "$kt_g" || kt_quit
}

# Mount points not to walk: pseudo filesystems always, network filesystems unless asked.
kt_ns=0
kt_skipdef='kt_skip() { case "$1" in /proc|/sys|/dev) return 0;;'
kt_mounts=${KT_MOUNTS:-}
[ -z "$kt_mounts" ] && [ -z "${KT_ROOT:-}" ] && kt_mounts=/proc/mounts
if [ -n "$kt_mounts" ] && [ -r "$kt_mounts" ]; then
  while read -r kt_dev kt_mnt kt_fs kt_rest; do
    kt_x=
    case $kt_fs in
      proc|sysfs|devtmpfs|devpts|cgroup|cgroup2|mqueue|debugfs|tracefs|securityfs|pstore|bpf|configfs|fusectl|hugetlbfs|binfmt_misc|autofs|selinuxfs|efivarfs|rpc_pipefs|nsfs) kt_x=1 ;;
      nfs|nfs4|cifs|smb3|smbfs|fuse|fuse.*|9p|ceph|glusterfs|afs|lustre|gpfs|davfs|ncpfs|beegfs|orangefs)
        [ "${KT_NETFS:-0}" = 1 ] || kt_x=1 ;;
    esac
    [ -n "$kt_x" ] || continue
    case $kt_mnt in
      *\\*) kt_mnt=$(printf '%s\n' "$kt_mnt" | sed 's/\\\([0-7][0-7][0-7]\)/\\0\1/g'); kt_mnt=$(printf '%b' "$kt_mnt") ;;
    esac
    kt_ns=$((kt_ns + 1))
    eval "KT_S$kt_ns=\$kt_mnt"
    kt_skipdef="$kt_skipdef \"\$KT_S$kt_ns\") return 0;;"
  done < "$kt_mounts"
fi
eval "$kt_skipdef esac; return 1; }"

# Per directory: a progress frame every 500 (it also detects a closed stdout while no candidate
# is written), a look at the clock every 10 (one `date` fork).
kt_tick() {
  kt_nd=$((kt_nd + 1))
  case $kt_nd in *[05]00) kt_text P '' " $kt_nd $kt_nf $kt_sent" ;; esac
  case $kt_nd in *0)
    if [ -n "$kt_deadline" ] && [ "$(date +%s 2>/dev/null || echo 0)" -ge "$kt_deadline" ]; then
      kt_text B time ''
      kt_stop=time
    fi
  ;; esac
}

kt_file() {
  kt_stat "$1"
  kt_len=0
  if [ "$kt_m" -gt 0 ] && [ -f "$1" ]; then
    if [ -r "$1" ]; then
      kt_len=$kt_size
      [ "$kt_len" -gt "$kt_m" ] && kt_len=$kt_m
      kt_left=$((${KT_BYTES:-67108864} - kt_sent))
      if [ "$kt_len" -gt "$kt_left" ]; then
        [ -z "$kt_bhit" ] && kt_text B bytes ''
        kt_bhit=1
        kt_len=$kt_left
      fi
    else
      kt_frame N "$kt_p" 0 ' content'
    fi
  fi
  if [ -f "$1" ]; then kt_t=F; else kt_t=O; fi
  kt_frame "$kt_t" "$kt_p" "$kt_len" " $kt_size $kt_mode"
  if [ "$kt_len" -gt 0 ]; then
    kt_bytes "$1" "$kt_len"
    kt_sent=$((kt_sent + kt_len))
  fi
  [ "$kt_t" = F ] && [ "$kt_size" -gt 0 ] && kt_scan "$kt_p" "$1"
  return 0
}

kt_link() {
  kt_t=$(readlink "$1" 2>/dev/null)
  kt_frame S "$kt_p" "${#kt_t}" ''
  printf '%s' "$kt_t" || kt_quit
}

# One directory level. Per entry the common case (a file that is no candidate) costs one test and
# one kt_match call: this loop is where the tracker spends its time.
kt_walk() {
  kt_tick
  [ -n "$kt_stop" ] && return
  for kt_f in "$1"/* "$1"/.[!.]* "$1"/..?*; do
    if [ -d "$kt_f" ]; then
      kt_p=${kt_f#"$KT_ROOT"}
      if [ -L "$kt_f" ]; then
        # A symlink to a directory: reported if a candidate, never followed.
        kt_match "$kt_p" && kt_link "$kt_f"
        continue
      fi
      kt_skip "$kt_p" && continue
      if kt_match "$kt_p"; then kt_stat "$kt_f"; kt_frame D "$kt_p" 0 " 0 $kt_mode"; fi
      if [ -r "$kt_f" ] && [ -x "$kt_f" ]; then
        kt_walk "$kt_f"
        [ -n "$kt_stop" ] && return
      else
        kt_frame N "$kt_p" 0 ' dir'
      fi
    else
      kt_p=${kt_f#"$KT_ROOT"}
      kt_match "$kt_p" || continue
      # Unmatched glob words stay literal: -e / -L tell a real entry from them.
      if [ -L "$kt_f" ]; then
        kt_nf=$((kt_nf + 1))
        kt_link "$kt_f"
      elif [ -e "$kt_f" ]; then
        kt_nf=$((kt_nf + 1))
        kt_file "$kt_f"
      fi
    fi
  done
}

kt_environ() {
  if [ -r /proc/1/environ ]; then
    # shellcheck disable=SC2046
    set -- $(head -c "${KT_ENVCAP:-65536}" /proc/1/environ 2>/dev/null | wc -c)
    kt_frame E /proc/1/environ "${1:-0}" ''
    [ "${1:-0}" -gt 0 ] && kt_bytes /proc/1/environ "$1"
  elif [ -e /proc/1/environ ]; then
    kt_frame N /proc/1/environ 0 ' content'
  fi
}

# rpm -qa only against an sqlite or ndb database: reading those creates no file, whereas the old
# Berkeley DB backend writes __db.* region files as a side effect of a query.
# The rpm binary is looked up on PATH by hand and run by its path: busybox ash would otherwise
# run busybox's own rpm applet, which knows no --queryformat.
kt_rpm() {
  [ -f /var/lib/rpm/rpmdb.sqlite ] || [ -f /var/lib/rpm/Packages.db ] || [ -f /usr/lib/sysimage/rpm/rpmdb.sqlite ] || return 0
  kt_rpmbin=
  kt_ifs=$IFS
  IFS=:
  for kt_d in ${PATH:-/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin}; do
    if [ -f "$kt_d/rpm" ] && [ -x "$kt_d/rpm" ]; then kt_rpmbin=$kt_d/rpm; break; fi
  done
  IFS=$kt_ifs
  [ -n "$kt_rpmbin" ] || return 0
  kt_q=$("$kt_rpmbin" -qa --nosignature --nodigest --queryformat '%{NAME}\t%{EPOCH}:%{VERSION}-%{RELEASE}\t%{ARCH}\t%{VENDOR}\n' 2>/dev/null | head -c "${KT_PKGCAP:-8388608}")
  kt_text Q "$kt_q" ''
}

kt_main() {
  # The watcher holds the exec channel's stdin, which the coordinator keeps open: when the
  # connection goes (coordinator killed, timeout, drop) stdin ends and the watcher stops the walk.
  exec 3<&0
  ( while read -r kt_l <&3; do :; done; kill -TERM "$$" 2>/dev/null ) &
  kt_wpid=$!
  exec 3<&-
  kt_deadline=
  if [ "${KT_TIME:-0}" -gt 0 ]; then
    kt_now=$(date +%s 2>/dev/null) && kt_deadline=$((kt_now + KT_TIME))
  fi
  kt_nice=
  if [ -r /proc/$$/stat ]; then
    read -r kt_st < /proc/$$/stat
    kt_st=${kt_st##*) }
    # shellcheck disable=SC2086
    set -- $kt_st
    kt_nice=${17}
  fi
  kt_text H "pid=$$ nice=$kt_nice uid=$(id -u 2>/dev/null)" " $$"
  if [ -z "${KT_ROOT:-}" ]; then
    kt_environ
    kt_rpm
  fi
  kt_walk "${KT_ROOT:-}"
  kt_text X "${kt_stop:-${kt_bhit:+bytes}}" " $kt_nd $kt_nf $kt_sent"
  kt_quit
}

kt_main
