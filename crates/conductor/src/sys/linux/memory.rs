//! A child's memory cgroup: where its peak memory and OOM kills are read,
//! and where a memory limit is enforced. Chosen at spawn:
//!
//! - the child's containment cgroup (v2), when the memory controller is
//!   enabled for it;
//! - for a memory limit without a containment cgroup, a v2 cgroup made for
//!   it, when the controller is enabled for conductor's cgroup;
//! - otherwise a per-child cgroup in the v1 memory hierarchy (hybrid systems).
//!
//! Uncontained children without a limit get none (it would cost every spawn
//! a mkdir and an rmdir); their figures are `getrusage`'s.

use super::cgroup::Cgroup;
use super::memcg_v1::MemCgroupV1;
use crate::status::{ResourceUsage, UsageSource};
use std::io;
use std::os::fd::OwnedFd;

/// Which cgroup measures (and limits) the child's memory.
#[derive(Debug)]
pub(crate) enum Memory {
    /// The containment cgroup (v2) has the memory controller.
    Tree,
    /// A v2 cgroup made for the memory limit; the child is spawned into it.
    V2(Cgroup),
    /// A per-child cgroup in the v1 memory hierarchy.
    V1(MemCgroupV1),
}

/// The memory side of one spawn.
#[derive(Debug, Default)]
pub(crate) struct MemoryPlan {
    pub memory: Option<Memory>,
    /// v1: `cgroup.procs` of the new cgroup, for the child to join (closed
    /// once the child exists).
    pub procs: Option<OwnedFd>,
}

/// Chooses and sets up the child's memory cgroup. `limit`: the cap asked for
/// (an error when it cannot be enforced); without one, accounting is best
/// effort and only done for a child with a containment cgroup.
pub(crate) fn plan(limit: Option<u64>, tree: Option<&Cgroup>) -> io::Result<MemoryPlan> {
    if limit.is_none() && tree.is_none() {
        return Ok(MemoryPlan::default());
    }
    let v2_reason = match tree {
        Some(cg) if cg.has_memory() => {
            if let Some(bytes) = limit {
                cg.limit_memory(bytes)?;
            }
            return Ok(MemoryPlan {
                memory: Some(Memory::Tree),
                procs: None,
            });
        }
        Some(cg) => format!(
            "cgroup {} has no memory controller (conductor does not enable controllers)",
            cg.path().display()
        ),
        None => match Cgroup::create() {
            Ok(cg) if cg.has_memory() => {
                if let Some(bytes) = limit {
                    cg.limit_memory(bytes)?;
                }
                return Ok(MemoryPlan {
                    memory: Some(Memory::V2(cg)),
                    procs: None,
                });
            }
            Ok(cg) => format!(
                "cgroup v2: the memory controller is not enabled below {} \
                 (conductor does not enable controllers)",
                cg.path().parent().unwrap_or(cg.path()).display()
            ),
            Err(e) => format!("cgroup v2: {e}"),
        },
    };
    let v1 = MemCgroupV1::create(limit).and_then(|cg| {
        let procs = cg.open_procs()?;
        Ok((cg, procs))
    });
    match v1 {
        Ok((cg, procs)) => Ok(MemoryPlan {
            memory: Some(Memory::V1(cg)),
            procs: Some(procs),
        }),
        Err(e) => Err(io::Error::new(
            e.kind(),
            format!("no usable memory controller: {v2_reason}; cgroup v1 memory hierarchy: {e}"),
        )),
    }
}

impl Memory {
    /// The v2 cgroup the child must be spawned into, if this plan made one.
    pub fn clone_target(&self) -> Option<&Cgroup> {
        match self {
            Memory::V2(cg) => Some(cg),
            _ => None,
        }
    }

    /// Replaces the peak and the OOM flag in `ru` with the cgroup's figures
    /// (left as they are when the cgroup cannot be read).
    pub fn account(&self, tree: Option<&Cgroup>, ru: &mut ResourceUsage) {
        let (peak, ooms) = match (self, tree) {
            (Memory::Tree, Some(cg)) | (Memory::V2(cg), _) => (cg.memory_peak(), cg.oom_kills()),
            (Memory::V1(cg), _) => (cg.memory_peak(), cg.oom_kills()),
            (Memory::Tree, None) => return,
        };
        if let Ok(peak) = peak {
            ru.max_rss_bytes = peak;
            ru.memory_source = UsageSource::Cgroup;
        }
        ru.oom_killed = ooms.is_ok_and(|n| n > 0);
    }

    /// Removes a v1 cgroup now if it is empty (v2 ones go with their owner).
    pub fn release(&self) {
        if let Memory::V1(cg) = self {
            let _ = cg.remove();
        }
    }
}
