"""The course model: the part registry (parts), where things are (paths), notebooks and their
nbgrader cells, the course setting (home: course.toml), the generated provided and hidden test cells, the
sample submissions, and the intake of what students hand in."""
