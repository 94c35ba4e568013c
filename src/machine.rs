//! What the machine can give a run: the memory it can still use, from the OS's figure of
//! available memory and, when the process runs in a control group with a memory limit (a
//! container, a systemd slice, a batch scheduler's job), the room left under that limit.
//! `check` holds its inputs on disk when its estimated need is over it and no `--memory-gb`
//! was given. Linux only; elsewhere nothing is known and nothing changes.

/// A memory budget given in gigabytes (`--memory-gb`, Python's `memory_gb`) in bytes, a GB
/// being 10⁹ bytes; `None` when it is not a positive number.
pub fn budget_bytes(gigabytes: f64) -> Option<u64> {
    (gigabytes.is_finite() && gigabytes > 0.0).then_some((gigabytes * 1e9) as u64)
}

/// Give the memory freed so far back to the OS. glibc keeps what the threads freed in their
/// arenas for reuse, and it counts against the machine until then: between two phases of
/// `dedup` at 10 M people the process held 405 MB, 33 MB of it live. Called at the end of
/// each phase. Nothing elsewhere than glibc.
pub fn release_freed() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim has no preconditions; it only returns free pages of the heap.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Bytes of memory the run can still use, or `None` when the OS does not tell.
pub fn memory_room() -> Option<u64> {
    let read = |p: &str| std::fs::read_to_string(p).ok();
    let available = read("/proc/meminfo").and_then(|m| meminfo_available(&m));
    let cgroup = read("/proc/self/cgroup")
        .and_then(|c| cgroup_room(&c, |p| std::fs::read_to_string(p).ok()));
    match (available, cgroup) {
        (Some(a), Some(c)) => Some(a.min(c)),
        (a, c) => a.or(c),
    }
}

/// `MemAvailable` of `/proc/meminfo`, in bytes.
fn meminfo_available(meminfo: &str) -> Option<u64> {
    Some(kb_field(meminfo, "MemAvailable:")? * 1024)
}

/// The kB of a `Name:   1234 kB` line of a /proc file (`/proc/meminfo`, `/proc/self/status`).
pub(crate) fn kb_field(text: &str, name: &str) -> Option<u64> {
    let line = text.lines().find(|l| l.starts_with(name))?;
    line[name.len()..]
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

/// The room under the memory limits of the process's control group (`/proc/self/cgroup`) and
/// the groups above it (a parent's limit binds its children): the least, over the limits
/// set, of the limit less the memory the group's processes hold themselves (anonymous memory;
/// the page cache gives way). `read` reads a file of the cgroup file system. `None` without
/// a limit.
fn cgroup_room(cgroup: &str, read: impl Fn(&str) -> Option<String>) -> Option<u64> {
    const ROOT: &str = "/sys/fs/cgroup";
    let stat = |dir: &str, names: &[&str]| {
        let s = read(&format!("{dir}/memory.stat"))?;
        names.iter().find_map(|n| stat_field(&s, n))
    };
    for line in cgroup.lines() {
        let mut parts = line.splitn(3, ':');
        let (Some(id), Some(controllers), Some(path)) = (parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        let path = path.trim_end_matches('/');
        if id == "0" && controllers.is_empty() {
            // cgroup v2: memory.max ("max" when unlimited) at each level, memory.stat's
            // `anon`. In a container the listed path is often the host's, while the container
            // sees its own group at the root of the file system: then from the root.
            let listed = read(&format!("{ROOT}{path}/memory.max")).is_some();
            let mut at = if listed { path } else { "" };
            let mut room: Option<u64> = None;
            loop {
                let dir = format!("{ROOT}{at}");
                let limit = read(&format!("{dir}/memory.max")).and_then(|m| m.trim().parse().ok());
                if let Some(limit) = limit {
                    let left = u64::saturating_sub(limit, stat(&dir, &["anon"]).unwrap_or(0));
                    room = Some(room.map_or(left, |r: u64| r.min(left)));
                }
                match at.rfind('/') {
                    Some(i) => at = &at[..i],
                    None => break,
                }
            }
            return room;
        } else if controllers.split(',').any(|c| c == "memory") {
            // cgroup v1: memory.limit_in_bytes (a huge number when unlimited), and memory.stat's
            // `hierarchical_memory_limit` (the least limit of the group and those above it)
            // and `total_rss`. The listed path first, then a container's root.
            let base = format!("{ROOT}/memory");
            for dir in [format!("{base}{path}"), base.clone()] {
                let Some(limit) = read(&format!("{dir}/memory.limit_in_bytes")) else {
                    continue;
                };
                let limit: u64 = limit.trim().parse().ok()?;
                let limit =
                    stat(&dir, &["hierarchical_memory_limit"]).map_or(limit, |h| h.min(limit));
                if limit >= 1 << 62 {
                    return None;
                }
                let used = stat(&dir, &["total_rss", "rss"]).unwrap_or(0);
                return Some(limit.saturating_sub(used));
            }
        }
    }
    None
}

/// A field of a `memory.stat` file (`anon 1234`).
fn stat_field(stat: &str, name: &str) -> Option<u64> {
    stat.lines().find_map(|l| {
        let (k, v) = l.split_once(' ')?;
        (k == name).then(|| v.trim().parse().ok()).flatten()
    })
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn files(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let m: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |p: &str| m.get(p).cloned()
    }

    /// A GB is 10⁹ bytes wherever a budget is given; zero, a negative number or not a
    /// number is no budget.
    #[test]
    fn a_budget_in_gigabytes_is_counted_in_bytes() {
        assert_eq!(budget_bytes(6.0), Some(6_000_000_000));
        assert_eq!(budget_bytes(0.05), Some(50_000_000));
        for wrong in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            assert_eq!(budget_bytes(wrong), None, "{wrong}");
        }
    }

    #[test]
    fn available_memory_is_read_from_meminfo() {
        let meminfo = "MemTotal:       24683840 kB\nMemFree:        18420092 kB\nMemAvailable:   23908172 kB\n";
        assert_eq!(meminfo_available(meminfo), Some(23_908_172 * 1024));
        assert_eq!(meminfo_available("MemTotal: 1 kB\n"), None);
    }

    #[test]
    fn a_v2_limit_leaves_the_limit_less_the_groups_own_memory() {
        let read = files(&[
            ("/sys/fs/cgroup/job/memory.max", "8589934592\n"),
            (
                "/sys/fs/cgroup/job/memory.stat",
                "anon 1073741824\nfile 5000000000\n",
            ),
        ]);
        assert_eq!(cgroup_room("0::/job\n", &read), Some(7 << 30));
        // Unlimited.
        let read = files(&[("/sys/fs/cgroup/job/memory.max", "max\n")]);
        assert_eq!(cgroup_room("0::/job\n", &read), None);
    }

    #[test]
    fn a_parents_limit_binds_its_children() {
        // v2: the group is unlimited, its parent is not.
        let read = files(&[
            ("/sys/fs/cgroup/a/b/memory.max", "max\n"),
            ("/sys/fs/cgroup/a/b/memory.stat", "anon 1000\n"),
            ("/sys/fs/cgroup/a/memory.max", "4294967296\n"),
            ("/sys/fs/cgroup/a/memory.stat", "anon 1073741824\n"),
        ]);
        assert_eq!(cgroup_room("0::/a/b\n", &read), Some(3 << 30));
        // v1: the hierarchical limit.
        let read = files(&[
            (
                "/sys/fs/cgroup/memory/a/b/memory.limit_in_bytes",
                "9223372036854771712\n",
            ),
            (
                "/sys/fs/cgroup/memory/a/b/memory.stat",
                "hierarchical_memory_limit 6442450944\ntotal_rss 1073741824\n",
            ),
        ]);
        assert_eq!(cgroup_room("4:memory:/a/b\n", &read), Some(5 << 30));
    }

    #[test]
    fn a_v1_limit_is_found_at_the_listed_path_or_at_the_containers_root() {
        let cgroup = "12:pids:/l6\n9:memory:/docker/abc\n1:name=systemd:/l6\n";
        let at_root = files(&[
            (
                "/sys/fs/cgroup/memory/memory.limit_in_bytes",
                "6442450944\n",
            ),
            (
                "/sys/fs/cgroup/memory/memory.stat",
                "cache 1\nrss 2\ntotal_rss 1073741824\n",
            ),
        ]);
        assert_eq!(cgroup_room(cgroup, &at_root), Some(5 << 30));
        let listed = files(&[(
            "/sys/fs/cgroup/memory/docker/abc/memory.limit_in_bytes",
            "9223372036854771712\n",
        )]);
        assert_eq!(cgroup_room(cgroup, &listed), None);
        assert_eq!(cgroup_room(cgroup, files(&[])), None);
    }
}
