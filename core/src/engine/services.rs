//! Services: each service's [`AgentMonitor`] found by name, driven, and its actions turned
//! into outputs (spawns, signals, probes, events); the deadlines of the monitors kept in one
//! heap.

use std::cmp::Reverse;

use crate::health::{Action, Actions, AgentMonitor};

use super::{Engine, Event, Output, name_hash};

impl Engine {
    pub(super) fn agent(&mut self, service: &str, f: impl FnOnce(&mut AgentMonitor) -> Actions) {
        let Some(i) = self.find_service(service) else {
            self.ignored(format!("no service named {service:?}"));
            return;
        };
        self.agent_at(i, f);
    }

    /// The index of a service. Inputs usually carry back the very name the engine sent out, so
    /// the name's address finds it without comparing strings; any other string is looked up.
    pub(super) fn find_service(&self, service: &str) -> Option<usize> {
        let addr = service.as_ptr() as usize;
        if let Ok(at) = self.service_by_addr.binary_search_by_key(&addr, |e| e.0)
            && let Some(&(_, i)) = self.service_by_addr.get(at)
            && self.services.get(i).is_some_and(|s| {
                std::ptr::eq(s.name.as_ptr(), service.as_ptr()) && s.name.len() == service.len()
            })
        {
            return Some(i);
        }
        let h = name_hash(service);
        let from = self.service_by_hash.partition_point(|e| e.0 < h);
        self.service_by_hash[from..]
            .iter()
            .take_while(|e| e.0 == h)
            .map(|e| e.1)
            .find(|&i| self.services.get(i).is_some_and(|s| &*s.name == service))
    }

    pub(super) fn agent_at(&mut self, index: usize, f: impl FnOnce(&mut AgentMonitor) -> Actions) {
        let Some(s) = self.services.get_mut(index) else {
            return;
        };
        let actions = f(&mut s.monitor);
        let timeout_ms = s.monitor.policy().probe_timeout_ms;
        for a in actions {
            let service = s.name.clone();
            let o = match a {
                Action::Spawn => Output::Spawn { service },
                Action::Terminate => Output::Terminate { service },
                Action::Kill => Output::Kill { service },
                Action::Probe => Output::Probe {
                    service,
                    timeout_ms,
                },
                Action::Alert { reason } => Output::Event(Event::Alert { service, reason }),
            };
            self.out.push_back(o);
        }
        let v = s.monitor.verdict();
        if v.status != s.last {
            s.last = v.status;
            let e = Event::Health {
                service: s.name.clone(),
                status: v.status,
                reason: v.reason.clone(),
            };
            self.out.push_back(Output::Event(e));
        }
        let deadline = s.monitor.next_deadline().map(|d| d.0);
        if deadline != s.deadline {
            s.deadline = deadline;
            if let Some(new) = deadline {
                self.agent_deadlines.push(Reverse((new, index)));
            }
            self.purge_agent_deadlines();
        }
    }

    /// Drops stale entries from the top of the agent deadline heap.
    pub(super) fn purge_agent_deadlines(&mut self) {
        while let Some(Reverse((t, i))) = self.agent_deadlines.peek().copied() {
            if self.services.get(i).is_some_and(|s| s.deadline == Some(t)) {
                break;
            }
            self.agent_deadlines.pop();
        }
    }
}
