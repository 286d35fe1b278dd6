//! The files of `seeds/`, embedded so the binary runs from anywhere.

use anjian_usecases::setup::SeedFiles;

const TEMPLATES: &[&str] = &[
    include_str!("../../../seeds/templates/general.yaml"),
    include_str!("../../../seeds/templates/fire.yaml"),
    include_str!("../../../seeds/templates/gas.yaml"),
    include_str!("../../../seeds/templates/hazardous_chemicals.yaml"),
    include_str!("../../../seeds/templates/hazardous_waste.yaml"),
    include_str!("../../../seeds/templates/dust.yaml"),
    include_str!("../../../seeds/templates/confined_space.yaml"),
    include_str!("../../../seeds/templates/vocs_electrical.yaml"),
];

/// The seed files of this build.
pub fn files() -> SeedFiles<'static> {
    SeedFiles {
        villages_yaml: include_str!("../../../seeds/villages.yaml"),
        enterprises_csv: include_str!("../../../seeds/enterprises.csv"),
        templates_yaml: TEMPLATES,
        campaigns_yaml: include_str!("../../../seeds/campaigns.yaml"),
    }
}
