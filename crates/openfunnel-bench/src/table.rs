//! The markdown table the benchmarks print.

/// One line of the table.
pub struct Line {
    pub scenario: String,
    pub sdk: String,
    pub comparison: String,
    pub ratio: String,
    pub goal: String,
    pub met: Option<bool>,
}

impl Line {
    pub fn new(scenario: impl Into<String>) -> Self {
        Line {
            scenario: scenario.into(),
            sdk: String::new(),
            comparison: String::new(),
            ratio: String::new(),
            goal: String::new(),
            met: None,
        }
    }

    pub fn sdk(mut self, value: impl Into<String>) -> Self {
        self.sdk = value.into();
        self
    }

    pub fn comparison(mut self, value: impl Into<String>) -> Self {
        self.comparison = value.into();
        self
    }

    pub fn ratio(mut self, value: impl Into<String>) -> Self {
        self.ratio = value.into();
        self
    }

    pub fn goal(mut self, goal: impl Into<String>, met: bool) -> Self {
        self.goal = goal.into();
        self.met = Some(met);
        self
    }
}

pub fn render(lines: &[Line]) -> String {
    let mut out = String::from(
        "| scenario | SDK | comparison | ratio | goal | met |\n|---|---|---|---|---|---|\n",
    );
    for line in lines {
        let met = match line.met {
            Some(true) => "yes",
            Some(false) => "**no**",
            None => "",
        };
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} |\n",
            line.scenario, line.sdk, line.comparison, line.ratio, line.goal, met
        ));
    }
    out
}

pub fn secs(duration: std::time::Duration) -> String {
    format!("{:.2} s", duration.as_secs_f64())
}

pub fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}
