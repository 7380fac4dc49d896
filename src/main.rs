use flashbook::configuration::Settings;
use flashbook::startup::Application;

#[actix_web::main]
async fn main() {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();

    if let Err(error) = run().await {
        log::error!("{}", flashbook::error::error_chain(error.as_ref()));
        std::process::exit(1);
    }
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let settings = Settings::from_env()?;
    log::info!("starting with {settings:?}");
    let application = Application::build(settings).await?;
    log::info!("listening on port {}", application.port());
    application.run_until_stopped().await?;
    Ok(())
}
